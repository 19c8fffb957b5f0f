"""Where a run's metrics port comes from: the ``run --metrics-port`` option or the
environment. Apart from the settings: every run's startup reads these, most runs build no
ops sink."""

PORT_ENV = "GPT_TRADER_METRICS_PORT"
PORT_OPTION = "metrics_port"
