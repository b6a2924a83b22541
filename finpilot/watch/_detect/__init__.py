"""Private: see finpilot.watch."""

# Registering the built-in detectors on import means every process (the NAB runner's workers
# too) knows them as soon as it imports finpilot.watch.
from finpilot.watch._detect import _builtin as _builtin
