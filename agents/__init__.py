"""The only code that touches Kafka: the Faust app, topics, agents, clients and command line."""
