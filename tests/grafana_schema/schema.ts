// Strict dashboard types built from Grafana's published ones: @grafana/schema (dashboard kind and
// the core panels' option types, generated from Grafana's CUE kinds) and the Prometheus query
// model of @grafana/grafana-foundation-sdk. The published types are open in places (a panel's
// `options` is Record<string, unknown>, its `custom` field config accepts any extra key); here
// each panel type gets its own options and custom field config, so unknown keys are errors.
import type * as S from "@grafana/schema";
import type * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import type * as timeseries from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type * as stat from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type * as table from "@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen";
import type * as bargauge from "@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen";
import type * as gauge from "@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen";
import type * as text from "@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen";
import type * as statetimeline from "@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen";
import type * as piechart from "@grafana/schema/dist/esm/raw/composable/piechart/panelcfg/x/PieChartPanelCfg_types.gen";

// JSON has no TypeScript enums: an enum becomes the union of its values (string or number),
// methods disappear, everything else is kept as declared (optional stays optional).
type Json<T> =
  T extends string ? (string extends T ? string : `${T}`) :
  T extends number ? (`${T}` extends `${infer N extends number}` ? N : number) :
  T extends boolean ? T :
  T extends readonly (infer U)[] ? Json<U>[] :
  T extends (...args: never[]) => unknown ? never :
  T extends object ? { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Json<T[K]> } :
  T;

// A published type that turned into `any` would accept everything: refuse to compile then.
type IsAny<T> = 0 extends 1 & T ? true : false;
type NotAny<T> = IsAny<T> extends true ? "type degenerated to any" : true;
export const typesExist: [
  NotAny<S.Dashboard>, NotAny<S.Panel>, NotAny<S.RowPanel>, NotAny<S.VariableModel>, NotAny<S.AnnotationQuery>,
  NotAny<S.FieldConfig>, NotAny<S.DashboardLink>, NotAny<prometheus.Dataquery>,
  NotAny<timeseries.Options>, NotAny<timeseries.FieldConfig>, NotAny<stat.Options>, NotAny<table.Options>,
  NotAny<table.FieldConfig>, NotAny<bargauge.Options>, NotAny<gauge.Options>, NotAny<text.Options>,
  NotAny<statetimeline.Options>, NotAny<statetimeline.FieldConfig>, NotAny<piechart.Options>, NotAny<piechart.FieldConfig>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

export type DataSourceRef = Json<S.DataSourceRef>;
export type Query = Json<prometheus.Dataquery>;

// Data links on fields (fieldConfig.defaults.links is `unknown[]` in the schema); the shape
// is @grafana/data's DataLink, which has no published JSON schema.
export type DataLink = { title: string; url: string; targetBlank?: boolean };

type Field<C> = Json<Omit<S.FieldConfig, "custom" | "links">> & { custom?: Json<C>; links?: DataLink[] };
type FieldConfigSource<C> = Json<Omit<S.FieldConfigSource, "defaults">> & { defaults: Field<C> };

type PanelOf<K extends string, O, C> = Json<Omit<S.Panel, "type" | "options" | "fieldConfig" | "targets">> & {
  type: K;
  options?: Json<O>;
  fieldConfig?: FieldConfigSource<C>;
  targets?: Query[];
};
type NoCustom = Record<string, never>;

// Panel plugin id -> its typed panel. A panel type missing here (e.g. the removed `graph`)
// does not satisfy the constraint of `PanelType` and fails.
export interface Panels {
  timeseries: PanelOf<"timeseries", timeseries.Options, timeseries.FieldConfig>;
  stat: PanelOf<"stat", stat.Options, NoCustom>;
  table: PanelOf<"table", table.Options, table.FieldConfig>;
  bargauge: PanelOf<"bargauge", bargauge.Options, NoCustom>;
  gauge: PanelOf<"gauge", gauge.Options, NoCustom>;
  text: PanelOf<"text", text.Options, NoCustom>;
  "state-timeline": PanelOf<"state-timeline", statetimeline.Options, statetimeline.FieldConfig>;
  piechart: PanelOf<"piechart", piechart.Options, piechart.FieldConfig>;
  row: Json<Omit<S.RowPanel, "panels">> & { panels: Panels[Exclude<keyof Panels, "row">][] };
}
export type PanelType<K extends keyof Panels> = Panels[K];

export type Variable = Json<S.VariableModel>;

// Prometheus annotation queries: the query sits in `target`; the title, text and tag formats
// are the Prometheus data source's own annotation fields (not in the dashboard schema).
export type Annotation = Json<Omit<S.AnnotationQuery, "target">> & {
  target?: Query;
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
};

export type Dashboard = Json<Omit<S.Dashboard, "panels" | "templating" | "annotations">> & {
  panels: Panels[keyof Panels][];
  templating?: { list?: Variable[] };
  annotations?: { list?: Annotation[] };
};
