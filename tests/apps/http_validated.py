"""http_env_app wrapped in wsgiref.validate.validator: the standard library's oracle
for PEP 3333 checks the environ and the server's behaviour on every request."""
from wsgiref.validate import validator

import http_env_app

application = validator(http_env_app.application)
