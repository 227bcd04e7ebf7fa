from ecgbench.cli import main

raise SystemExit(main())
