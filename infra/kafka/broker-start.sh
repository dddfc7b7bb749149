#!/usr/bin/env bash
# Starts the compose broker (docker-compose.yml, service kafka) in the apache/kafka image:
# infra/kafka/broker.properties plus the broker's own SCRAM login, the storage formatted on
# the first start with the SCRAM user admin (KAFKA_ADMIN_PASSWORD), then Kafka in the
# foreground. Every other user and every ACL comes from kafka-security.sh (the
# kafka-security service). The admin password is read once, at format time: to change it
# later, re-key admin with kafka-configs.sh as admin, then change KAFKA_ADMIN_PASSWORD.
set -euo pipefail

: "${CLUSTER_ID:?set CLUSTER_ID}"
password="${KAFKA_ADMIN_PASSWORD:-}"
if [ "${#password}" -lt 16 ] || ! [[ "$password" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "broker-start: KAFKA_ADMIN_PASSWORD must be 16+ characters of A-Z a-z 0-9 _ - (openssl rand -hex 24)" >&2
  exit 1
fi

umask 077
config=/tmp/sitesaga-broker.properties
{
  cat /sitesaga/broker.properties
  echo "listener.name.internal.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$password\";"
} > "$config"
# For the healthcheck and for operators in the container (kafka-*.sh --command-config).
cat > /tmp/sitesaga-admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$password";
PROPERTIES

/opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$config" --ignore-formatted \
  --add-scram "SCRAM-SHA-256=[name=admin,password=$password]" > /dev/null
exec /opt/kafka/bin/kafka-server-start.sh "$config"
