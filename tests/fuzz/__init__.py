"""Fuzz harness for the two file importers (CUR 2.0 and Bedrock invocation logs).

`python -m tests.fuzz.runner --count N --seed S` builds malformed variants of the fixture files
(tests.fuzz.mutations), imports each one with the real import services into a tenant of its own, reads
the tenant back through the report command, the API and the overview page, and classifies every variant
as ok / crash / silent (tests.fuzz.oracle explains the rules). tests.fuzz.runner.run() is the entry point
for a pytest test.
"""
