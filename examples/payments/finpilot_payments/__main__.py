"""``python -m finpilot_payments --port 0 --data-dir DIR``: serve, print the bound URL; ``... tokens``: API tokens."""

from finpilot_payments._serve import main

raise SystemExit(main())
