import sys

from authority.cli import main

sys.exit(main())
