"""The run side: a suite, its splits, the plan of cells, the executors that run them and the store that keeps them."""
