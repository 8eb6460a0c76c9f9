#!/bin/sh
# The script mod_fcgid runs. wsgi-fcgi finds the listening socket mod_fcgid put on
# fd 0, serves one request at a time (--threads 1; mod_fcgid runs more processes)
# and never exits after N requests (mod_fcgid recycles: FcgidMaxRequestsPerProcess).
# Its stderr goes to Apache's error log; --log-file sends the log elsewhere.
exec /usr/local/bin/wsgi-fcgi --app /srv/app/app.py
