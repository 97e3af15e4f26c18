"""`python -m tests.cluster.local.images`: build the stand-in images and print their sizes."""

from tests.cluster.local.images import main

raise SystemExit(main())
