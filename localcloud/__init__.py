"""localcloud: an embedded AWS (moto underneath) that also runs EventBridge Pipes, enforces IAM and
resource policies on deliveries, and emits CloudWatch metrics for this project's pipeline."""

__version__ = "0.1.0"
