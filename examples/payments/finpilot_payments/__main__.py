"""``python -m finpilot_payments --port 0 --data-dir DIR``: serve and print the bound URL."""

from finpilot_payments._serve import main

raise SystemExit(main())
