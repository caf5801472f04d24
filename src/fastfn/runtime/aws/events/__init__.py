"""One module per Lambda event source: detect its event, build the ASGI call, encode the
result. HTTP sources (`apigw_v1`, `http_v2`, `alb`) expose `matches`, `request`, `result`;
the others (`s3`, `eventbridge`, `sqs`, `direct`) are posted to the configured routes by
`posted`."""
