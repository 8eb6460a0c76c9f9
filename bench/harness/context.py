"""What every part of a run shares: where things are, how long to load, how the two
cores are split between servers and the load generator, and how our programs are run."""

import os
import subprocess

from servers import Shape, Unavailable


class Context:
    def __init__(self, source_root, build_dir, tmp, smoke, duration, rounds):
        self.source_root = source_root
        self.build_dir = build_dir
        self.tmp = tmp
        self.smoke = smoke
        self.duration = duration
        self.rounds = rounds
        self._help = {}
        ncpu = os.cpu_count() or 1
        # 1-worker rows: servers (and any front) on CPU 0, wrk on CPU 1, so the load
        # generator never steals the worker's core. Multi-worker rows: no pinning, all
        # of them share both cores (printed with the results).
        self.pin = ncpu >= 2

    def cpus_for(self, shape):
        """(server cpus, wrk cpus) for a row of this shape."""
        if self.pin and shape.processes * shape.threads == 1:
            return "0", "1"
        return None, None

    def pinning_note(self):
        if not self.pin:
            return "1 CPU: servers and wrk share it"
        return ("1-worker rows: servers (and nginx/Apache) pinned to CPU 0, wrk to CPU 1 "
                "(taskset); 2-worker rows: no pinning, servers and wrk share both CPUs")

    def ours(self, program):
        path = os.path.join(self.build_dir, "cli", program)
        if not os.access(path, os.X_OK):
            raise Unavailable(f"{program} is not built yet ({path} missing)")
        return path

    def _usage(self, program):
        if program not in self._help:
            done = subprocess.run([self.ours(program), "--help"], capture_output=True,
                                  text=True, timeout=30)
            self._help[program] = done.stdout + done.stderr
        return self._help[program]

    def ours_shape(self, program, shape):
        """Our options for `shape` and the shape they give. Our programs serve from threads
        in one process; with a --workers option they also fork. Without it a 2x1 request
        becomes 1x2 (two threads sharing the GIL), and the table says so."""
        usage = self._usage(program)
        # The bench runs as root, as its peers (uWSGI, gunicorn) do: our servers refuse
        # that without --user unless told (--allow-root; older builds lack the option).
        args = ["--allow-root"] if "--allow-root" in usage else []
        if shape.processes > 1:
            if "--workers" in usage:
                args += ["--workers", str(shape.processes)]
            else:
                shape = Shape(1, shape.processes * shape.threads)
        if "--threads" in usage:
            args += ["--threads", str(shape.threads)]
        elif shape.threads > 1:
            raise Unavailable(f"{program} has no --threads option")
        return args, shape
