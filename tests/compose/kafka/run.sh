#!/bin/bash
# Start one Kafka node the way the apache/kafka image does: the environment
# is the configuration. Every variable KAFKA_* (except the JVM and logging
# ones) becomes a server property by the image's rule (KafkaDockerWrapper):
# drop KAFKA_, lower-case, '_' -> '.', then '...' -> '-' and '..' -> '_'.
# The log dir is formatted with $CLUSTER_ID (the image's default when unset)
# on first start, then kafka.Kafka runs in the foreground.
set -euo pipefail

home=/opt/kafka
conf=$home/config/server.properties
cluster_id=${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}
not_props=" KAFKA_VERSION KAFKA_HEAP_OPTS KAFKA_LOG4J_OPTS KAFKA_OPTS KAFKA_JMX_OPTS \
KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS \
KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_JMX_HOSTNAME "

: >"$conf.tmp"
for name in $(compgen -e | sort); do
  case $name in KAFKA_*) ;; *) continue ;; esac
  case $not_props in *" $name "*) continue ;; esac
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//_/.}
  key=${key//.../-}
  key=${key//../_}
  printf '%s=%s\n' "$key" "${!name}" >>"$conf.tmp"
done
grep -q '^log\.dirs=' "$conf.tmp" || echo "log.dirs=/var/lib/kafka/data" >>"$conf.tmp"
mv "$conf.tmp" "$conf"
echo "run.sh: server.properties from the environment:" >&2
sed 's/^/  /' "$conf" >&2

java_opts=(-Djava.awt.headless=true "-Dlog4j2.configurationFile=$home/config/log4j2.properties")
# shellcheck disable=SC2206 # these variables are lists of JVM options
heap=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx1G})
# shellcheck disable=SC2206
extra=(${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} ${KAFKA_OPTS:-})

java "${java_opts[@]}" -cp "$home/libs/*" kafka.tools.StorageTool format \
  --ignore-formatted -t "$cluster_id" -c "$conf"
exec java "${heap[@]}" "${extra[@]}" "${java_opts[@]}" -cp "$home/libs/*" kafka.Kafka "$conf"
