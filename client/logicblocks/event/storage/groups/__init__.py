"""Consumer groups kept by the engines: stored state (``records``), the I/O-free decisions
of what to deliver (``dispatch``, ``partitions``) and the consumer that runs them."""
