import sys

from tfflops.cli import main

sys.exit(main())
