from fimkit.cli import main

raise SystemExit(main())
