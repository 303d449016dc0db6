"""Real services started on loopback for the tests and the benchmarks: Apache Kafka as a KRaft
cluster, a ClickHouse server and a ClickHouse cluster with ZooKeeper, the certificates they use,
and a whole pipeline in processes. Not part of the installed package; the bundled broker that
`journey up` runs is (journey.broker)."""
