"""Benchmarks of issue 5: apply/destroy, latency, throughput and footprint of localcloud, with plain
moto_server and a naive Terraform layout measured beside them in the same run (`python -m bench`)."""
