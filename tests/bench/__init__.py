"""`make bench` / `make bench-quick`: throughput, latency and app-side costs against design.md §6."""
