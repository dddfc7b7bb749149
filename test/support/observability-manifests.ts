/**
 * The shipped dashboards and alerts (infra/observability) as data for the tests: every
 * PromQL expression with where it is, parsed by Prometheus' own grammar
 * (@prometheus-io/lezer-promql, the parser of Prometheus' web UI), with the metrics and
 * label names it refers to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';

export const OBSERVABILITY = path.join(__dirname, '..', '..', 'infra', 'observability');
export const ALERTS_FILE = path.join(OBSERVABILITY, 'prometheus', 'alerts.yml');
export const DASHBOARD_FILE = path.join(OBSERVABILITY, 'grafana', 'dashboards', 'sitesaga.json');

export interface ShippedQuery {
  /** `alerts.yml SagaStuck` or `sitesaga.json panel "…" A`. */
  readonly where: string;
  readonly expr: string;
}

export interface ParsedQuery {
  /** Syntax errors, each with the text around it; empty when the expression parses. */
  readonly errors: string[];
  /** Metric names of the vector selectors. */
  readonly metrics: string[];
  /** Label names in matchers and in by/without/on/ignoring lists. */
  readonly labels: string[];
  /** Label matchers with their metric: `{ metric, label, value }` for `=` and `=~`. */
  readonly matchers: { metric: string; label: string; op: string; value: string }[];
}

export function parsePromQL(expr: string): ParsedQuery {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const labels: string[] = [];
  const matchers: ParsedQuery['matchers'] = [];
  const cursor = tree.cursor();
  do {
    const node = cursor.node;
    const text = expr.slice(node.from, node.to);
    if (node.type.isError) errors.push(`syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from + 20)}…`);
    else if (node.name === 'Identifier' && node.parent?.name === 'VectorSelector') metrics.push(text);
    else if (node.name === 'LabelName') labels.push(text);
    if (node.name === 'UnquotedLabelMatcher') {
      const selector = node.parent?.parent;
      const metric = selector?.name === 'VectorSelector' ? (selector.getChild('Identifier') ? expr.slice(selector.getChild('Identifier')!.from, selector.getChild('Identifier')!.to) : '') : '';
      const label = node.getChild('LabelName');
      const op = node.getChild('MatchOp');
      const value = node.getChild('StringLiteral');
      if (label && op && value) matchers.push({ metric, label: expr.slice(label.from, label.to), op: expr.slice(op.from, op.to), value: JSON.parse(expr.slice(value.from, value.to).replace(/^'|'$/g, '"')) as string });
    }
  } while (cursor.next());
  return { errors, metrics: [...new Set(metrics)], labels: [...new Set(labels)], matchers };
}

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export function alertGroups(): { name: string; rules: AlertRule[] }[] {
  return (parse(fs.readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }).groups;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: { refId: string; expr: string; datasource?: { type?: string; uid?: string } }[];
  readonly panels?: DashboardPanel[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: DashboardPanel[];
  readonly templating?: { list: unknown[] };
}

export const dashboard = (): Dashboard => JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows included. */
export const allPanels = (board: Dashboard): DashboardPanel[] => board.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

export function shippedQueries(): ShippedQuery[] {
  const rules = alertGroups().flatMap((group) => group.rules.map((rule) => ({ where: `alerts.yml ${rule.alert ?? rule.record}`, expr: rule.expr })));
  const panels = allPanels(dashboard()).flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `sitesaga.json panel "${panel.title}" ${target.refId}`, expr: target.expr })));
  return [...rules, ...panels];
}

/**
 * Metrics the queries may name that no service serves: Prometheus' own per target (named
 * here with the labels the queries may use).
 */
export const METRICS_NOT_FROM_SERVICES: Readonly<Record<string, { readonly why: string; readonly labels: readonly string[] }>> = {
  up: { why: "Prometheus' own: 1 when the target answered the scrape", labels: ['job', 'instance'] },
};
