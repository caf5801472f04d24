"""The local AWS Lambda: a Runtime API server (`runtime_api`), functions run as real
processes under awslambdaric (`lambda_`), and a function-URL gateway (`function_url`).
Processes are started and killed only in `spawn`."""
