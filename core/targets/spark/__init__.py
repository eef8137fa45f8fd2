"""The Spark cluster target: spark-submit on a head node, over SSH."""
