"""Local Fn platform: functions as real processes, and an API gateway in front of them."""
