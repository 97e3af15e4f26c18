"""`python -m tools.cluster.local.images`: build the stand-in images and print their sizes."""

from tools.cluster.local.images import main

raise SystemExit(main())
