"""`python -m clients.servers`: run the gRPC bridge (see `clients.servers.server`)."""

import sys

from clients.servers.server import main

sys.exit(main())
