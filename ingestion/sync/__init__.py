"""Live sync from connected AWS accounts: four sources (CUR exports, invocation logs, CloudWatch metrics,
inventory), each reading through the connection's role and loading through the same parsers and loader as the
file imports. base.py: what every source takes and returns; services.py: the orchestration."""
