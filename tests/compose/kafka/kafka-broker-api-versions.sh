#!/bin/bash
# What bin/kafka-broker-api-versions.sh of a Kafka release runs (the compose
# file's healthcheck calls it).
exec java -Xmx128m -Djava.awt.headless=true -cp "/opt/kafka/libs/*" \
  org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
