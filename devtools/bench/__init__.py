"""The benchmark suite (``make bench`` / ``python -m devtools.bench``); see benchmarks/README.md.

Cases: (a) our backfill against the seed's algorithm, (b) use of a capacity-limited target, (c) client CPU per
item against botocore's own floor, (d) live replication through the Lambda handlers, (e) a projection to AWS,
(f) the run's capacity budget, held and left to an application. a, b, d and f run against ``devtools.faults``
(latency, capacity, faults over moto) in a process of its own; c needs no server; d's lag runs on the embedded
emulator.
"""
