/**
 * Kafka users and ACLs from one source, infra/kafka/acls.json.
 *
 *   pnpm kafka:security           writes what is rendered from it (below)
 *   pnpm kafka:security --check   writes nothing, exits 1 when a rendered file is out of date
 *
 * Rendered: infra/kafka/kafka-security.sh (the script the compose service `kafka-security`
 * and the Kubernetes Job `kafka-security` run), infra/k8s/kafka-security-script.yaml (that
 * script in a ConfigMap) and the table of infra/kafka-acls.md. The tests apply the same
 * source: aclBindings() is what the script adds, one binding per (principal, operation,
 * resource).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const ACLS_FILE = path.join(REPO_ROOT, 'infra', 'kafka', 'acls.json');
export const SCRIPT_FILE = path.join(REPO_ROOT, 'infra', 'kafka', 'kafka-security.sh');
export const CONFIG_MAP_FILE = path.join(REPO_ROOT, 'infra', 'k8s', 'kafka-security-script.yaml');
export const DOC_FILE = path.join(REPO_ROOT, 'infra', 'kafka-acls.md');

export interface PrincipalSpec {
  readonly name: string;
  readonly what: string;
  /** Consumer group (Read), before KAFKA_TOPIC_PREFIX. */
  readonly group?: string;
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly create?: readonly string[];
}

export interface AclSpec {
  /** The super user the script authenticates as (super.users of the broker). */
  readonly admin: string;
  readonly principals: readonly PrincipalSpec[];
}

export type AclOperation = 'Read' | 'Write' | 'Create' | 'Describe';

/** One ACL: allow `principal` `operation` on the literal resource `name`. */
export interface AclBinding {
  readonly principal: string;
  readonly operation: AclOperation;
  readonly resourceType: 'topic' | 'group';
  readonly name: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const TOPIC = /^[a-z][a-z0-9.-]{0,200}$/;

export function loadAclSpec(file = ACLS_FILE): AclSpec {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as AclSpec;
  const problems: string[] = [];
  if (!NAME.test(spec.admin)) problems.push(`admin "${spec.admin}" is not a principal name`);
  const seen = new Set<string>();
  for (const principal of spec.principals) {
    if (!NAME.test(principal.name)) problems.push(`principal "${principal.name}" is not a name (lowercase letters, digits, -)`);
    if (seen.has(principal.name) || principal.name === spec.admin) problems.push(`principal "${principal.name}" appears twice`);
    seen.add(principal.name);
    for (const topic of [...(principal.read ?? []), ...(principal.write ?? []), ...(principal.create ?? [])]) {
      if (!TOPIC.test(topic)) problems.push(`${principal.name}: "${topic}" is not a topic name`);
    }
    if (principal.group !== undefined && !NAME.test(principal.group)) problems.push(`${principal.name}: group "${principal.group}" is not a name`);
    if ((principal.read?.length ?? 0) > 0 && principal.group === undefined) problems.push(`${principal.name} reads topics but has no consumer group`);
  }
  if (problems.length > 0) throw new Error(`${path.relative(process.cwd(), file)}: ${problems.join('; ')}`);
  return spec;
}

/** Every ACL the source asks for, names with `prefix` (KAFKA_TOPIC_PREFIX) in front. */
export function aclBindings(spec: AclSpec, prefix = ''): AclBinding[] {
  return spec.principals.flatMap((principal) => {
    const user = `User:${principal.name}`;
    const topics = (operation: AclOperation, names: readonly string[] = []) =>
      names.map((name) => ({ principal: user, operation, resourceType: 'topic' as const, name: `${prefix}${name}` }));
    return [
      ...topics('Read', principal.read),
      ...(principal.group !== undefined ? [{ principal: user, operation: 'Read' as const, resourceType: 'group' as const, name: `${prefix}${principal.group}` }] : []),
      ...topics('Write', principal.write),
      ...topics('Create', principal.create),
      ...topics('Describe', principal.create),
    ];
  });
}

/** The environment variable that holds a principal's SCRAM password: KAFKA_PASSWORD_SITE_SAGA for site-saga. */
export const passwordVariable = (principal: string): string => `KAFKA_PASSWORD_${principal.toUpperCase().replace(/-/g, '_')}`;

const shellWords = (flag: string, names: readonly string[], prefixed: boolean): string =>
  names.map((name) => `${flag} "${prefixed ? '${prefix}' : ''}${name}"`).join(' ');

/** infra/kafka/kafka-security.sh */
export function renderScript(spec: AclSpec): string {
  const functions = spec.principals.map((principal) => {
    const user = `User:${principal.name}`;
    const lines = [`principal_${principal.name.replace(/-/g, '_')}() {`, `  scram_user ${principal.name} ${passwordVariable(principal.name)}`];
    const read = principal.read ?? [];
    if (read.length > 0 || principal.group !== undefined) {
      lines.push(`  acl --allow-principal ${user} --operation Read ${shellWords('--topic', read, true)}${principal.group !== undefined ? ` ${shellWords('--group', [principal.group], true)}` : ''}`);
    }
    if ((principal.write ?? []).length > 0) lines.push(`  acl --allow-principal ${user} --operation Write ${shellWords('--topic', principal.write ?? [], true)}`);
    if ((principal.create ?? []).length > 0) lines.push(`  acl --allow-principal ${user} --operation Create --operation Describe ${shellWords('--topic', principal.create ?? [], true)}`);
    lines.push(`  echo "kafka-security: ${principal.name}: SCRAM user and ACLs in place"`, '}');
    return lines.join('\n');
  });
  const names = spec.principals.map((principal) => principal.name);
  return `#!/usr/bin/env bash
# GENERATED by scripts/kafka-security.ts from infra/kafka/acls.json: edit that file, then run
# \`pnpm kafka:security\` (test/e2e/deploy-manifests.e2e-spec.ts fails while this file differs).
#
# Creates (or re-keys) the SCRAM-SHA-256 user of each principal and adds its topic and group
# ACLs (infra/kafka-acls.md). Idempotent: run it after every change of acls.json or of a
# password. It authenticates as the super user ${spec.admin}.
#
#   KAFKA_BOOTSTRAP          host:port of a SASL listener of the broker
#   KAFKA_ADMIN_PASSWORD     the password of ${spec.admin}
#   KAFKA_PASSWORD_<NAME>    one per principal: ${names.map(passwordVariable).join(', ')}
#                            (16+ characters of A-Z a-z 0-9 _ -, e.g. openssl rand -hex 24)
#   KAFKA_TOPIC_PREFIX       optional, in front of every topic and group name
#   KAFKA_SECURITY_PROTOCOL  SASL_PLAINTEXT (default) or SASL_SSL
#   KAFKA_BIN                where kafka-acls.sh and kafka-configs.sh are (default /opt/kafka/bin)
#
# Usage: kafka-security.sh [principal ...]     (default: every principal)
# Passwords are never printed (no set -x here).
set -euo pipefail

bin="\${KAFKA_BIN:-/opt/kafka/bin}"
prefix="\${KAFKA_TOPIC_PREFIX:-}"
: "\${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to host:port of a SASL listener}"

fail() { echo "kafka-security: $*" >&2; exit 1; }

# A password the broker will hold: set, long enough, no placeholder, nothing the SCRAM config
# syntax (name=[key=value,...]) or the JAAS line could misread.
checked_password() {
  local variable="$1" value="\${!1:-}"
  [ -n "$value" ] || fail "$variable is not set"
  [ "\${#value}" -ge 16 ] || fail "$variable must be at least 16 characters"
  [[ "$value" =~ ^[A-Za-z0-9_-]+$ ]] || fail "$variable may hold only A-Z a-z 0-9 _ -"
  [[ "$value" =~ ^(change-?me|changeme|placeholder|password|secret) ]] && fail "$variable is a placeholder"
  [ -n "\${value//"\${value:0:1}"/}" ] || fail "$variable is one repeated character"
  printf '%s' "$value"
}

admin_password="$(checked_password KAFKA_ADMIN_PASSWORD)"
client_config="$(mktemp)"
trap 'rm -f "$client_config"' EXIT
chmod 600 "$client_config"
cat > "$client_config" <<EOF
security.protocol=\${KAFKA_SECURITY_PROTOCOL:-SASL_PLAINTEXT}
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${spec.admin}" password="$admin_password";
EOF

scram_user() {
  local password
  password="$(checked_password "$2")"
  "$bin/kafka-configs.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$client_config" \\
    --alter --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-256=[password=$password]" > /dev/null
}

acl() {
  "$bin/kafka-acls.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" --command-config "$client_config" --add "$@" > /dev/null
}

${functions.join('\n\n')}

all=(${names.join(' ')})
[ "$#" -gt 0 ] || set -- "\${all[@]}"
for principal in "$@"; do
  case "$principal" in
${spec.principals.map((principal) => `    ${principal.name}) principal_${principal.name.replace(/-/g, '_')} ;;`).join('\n')}
    *) fail "unknown principal \\"$principal\\" (infra/kafka/acls.json has: \${all[*]})" ;;
  esac
done
`;
}

/** infra/k8s/kafka-security-script.yaml: the script in a ConfigMap for the Job. */
export function renderConfigMap(script: string): string {
  const body = script
    .split('\n')
    .map((line) => (line === '' ? '' : `    ${line}`))
    .join('\n')
    .replace(/\n+$/, '');
  return `# GENERATED by scripts/kafka-security.ts from infra/kafka/acls.json (pnpm kafka:security):
# infra/kafka/kafka-security.sh, for the Job kafka-security (kafka-security-job.yaml).
apiVersion: v1
kind: ConfigMap
metadata:
  name: kafka-security-script
  labels:
    app.kubernetes.io/name: kafka-security
    app.kubernetes.io/part-of: sitesaga
data:
  kafka-security.sh: |
${body}
`;
}

const code = (names: readonly string[] = []): string => (names.length === 0 ? '—' : names.map((name) => `\`${name}\``).join(', '));

/** The table of infra/kafka-acls.md. */
export function renderTable(spec: AclSpec): string {
  const rows = spec.principals.map((principal) => {
    const read = [code(principal.read), ...(principal.group !== undefined ? [`group \`${principal.group}\``] : [])].filter((cell) => cell !== '—').join(', ') || '—';
    const create = (principal.create ?? []).length > 0 ? `Create, Describe: ${principal.create?.length} topics (every topic and its \`.dlq\`)` : '—';
    return `| \`User:${principal.name}\` (${principal.what}) | ${read} | ${code(principal.write)} | ${create} |`;
  });
  return ['| principal | Read | Write | Create |', '|---|---|---|---|', ...rows].join('\n');
}

export const TABLE_BEGIN = '<!-- acls.json:begin (generated by pnpm kafka:security; edit infra/kafka/acls.json) -->';
export const TABLE_END = '<!-- acls.json:end -->';

export function renderDoc(spec: AclSpec, current: string): string {
  const start = current.indexOf(TABLE_BEGIN);
  const end = current.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`${path.relative(process.cwd(), DOC_FILE)} has no ${TABLE_BEGIN} … ${TABLE_END} block`);
  return `${current.slice(0, start + TABLE_BEGIN.length)}\n${renderTable(spec)}\n${current.slice(end)}`;
}

/** Every rendered file and the text it must hold. */
export function renderedFiles(spec = loadAclSpec()): { file: string; text: string }[] {
  const script = renderScript(spec);
  return [
    { file: SCRIPT_FILE, text: script },
    { file: CONFIG_MAP_FILE, text: renderConfigMap(script) },
    { file: DOC_FILE, text: renderDoc(spec, fs.readFileSync(DOC_FILE, 'utf8')) },
  ];
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const { file, text } of renderedFiles()) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (current === text) continue;
    if (check) stale.push(path.relative(process.cwd(), file));
    else {
      fs.writeFileSync(file, text, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
      console.log(`wrote ${path.relative(process.cwd(), file)}`);
    }
  }
  if (stale.length > 0) {
    console.error(`out of date: ${stale.join(', ')}: run pnpm kafka:security`);
    process.exit(1);
  }
}
