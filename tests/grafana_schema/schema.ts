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
import type * as annolist from "@grafana/schema/dist/esm/raw/composable/annotationslist/panelcfg/x/AnnotationsListPanelCfg_types.gen";
import type * as barchart from "@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen";
import type * as candlestick from "@grafana/schema/dist/esm/raw/composable/candlestick/panelcfg/x/CandlestickPanelCfg_types.gen";
import type * as canvas from "@grafana/schema/dist/esm/raw/composable/canvas/panelcfg/x/CanvasPanelCfg_types.gen";
import type * as dashlist from "@grafana/schema/dist/esm/raw/composable/dashboardlist/panelcfg/x/DashboardListPanelCfg_types.gen";
import type * as debug from "@grafana/schema/dist/esm/raw/composable/debug/panelcfg/x/DebugPanelCfg_types.gen";
import type * as geomap from "@grafana/schema/dist/esm/raw/composable/geomap/panelcfg/x/GeomapPanelCfg_types.gen";
import type * as heatmap from "@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen";
import type * as histogram from "@grafana/schema/dist/esm/raw/composable/histogram/panelcfg/x/HistogramPanelCfg_types.gen";
import type * as logs from "@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen";
import type * as news from "@grafana/schema/dist/esm/raw/composable/news/panelcfg/x/NewsPanelCfg_types.gen";
import type * as nodegraph from "@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen";
import type * as statushistory from "@grafana/schema/dist/esm/raw/composable/statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen";
import type * as trend from "@grafana/schema/dist/esm/raw/composable/trend/panelcfg/x/TrendPanelCfg_types.gen";
import type * as xychart from "@grafana/schema/dist/esm/raw/composable/xychart/panelcfg/x/XYChartPanelCfg_types.gen";

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
  NotAny<annolist.Options>, NotAny<barchart.Options>, NotAny<barchart.FieldConfig>, NotAny<candlestick.Options>, NotAny<candlestick.FieldConfig>, NotAny<canvas.Options>, NotAny<dashlist.Options>, NotAny<debug.Options>, NotAny<geomap.Options>, NotAny<heatmap.Options>, NotAny<heatmap.FieldConfig>, NotAny<histogram.Options>, NotAny<histogram.FieldConfig>, NotAny<logs.Options>, NotAny<news.Options>, NotAny<nodegraph.Options>, NotAny<statushistory.Options>, NotAny<statushistory.FieldConfig>, NotAny<trend.Options>, NotAny<trend.FieldConfig>, NotAny<xychart.Options>, NotAny<xychart.FieldConfig>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true,
  true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

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

// Panel plugin id -> its typed panel: every core panel Grafana ships, with the option types
// @grafana/schema publishes for it (plugin ids as in @grafana/grafana-foundation-sdk's panel
// builders). A panel type missing here (e.g. the removed `graph`) does not satisfy the
// constraint of `PanelType` and fails.
export interface Panels {
  timeseries: PanelOf<"timeseries", timeseries.Options, timeseries.FieldConfig>;
  stat: PanelOf<"stat", stat.Options, NoCustom>;
  table: PanelOf<"table", table.Options, table.FieldConfig>;
  bargauge: PanelOf<"bargauge", bargauge.Options, NoCustom>;
  gauge: PanelOf<"gauge", gauge.Options, NoCustom>;
  text: PanelOf<"text", text.Options, NoCustom>;
  "state-timeline": PanelOf<"state-timeline", statetimeline.Options, statetimeline.FieldConfig>;
  piechart: PanelOf<"piechart", piechart.Options, piechart.FieldConfig>;
  annolist: PanelOf<"annolist", annolist.Options, NoCustom>;
  barchart: PanelOf<"barchart", barchart.Options, barchart.FieldConfig>;
  candlestick: PanelOf<"candlestick", candlestick.Options, candlestick.FieldConfig>;
  canvas: PanelOf<"canvas", canvas.Options, NoCustom>;
  dashlist: PanelOf<"dashlist", dashlist.Options, NoCustom>;
  debug: PanelOf<"debug", debug.Options, NoCustom>;
  geomap: PanelOf<"geomap", geomap.Options, NoCustom>;
  heatmap: PanelOf<"heatmap", heatmap.Options, heatmap.FieldConfig>;
  histogram: PanelOf<"histogram", histogram.Options, histogram.FieldConfig>;
  logs: PanelOf<"logs", logs.Options, NoCustom>;
  news: PanelOf<"news", news.Options, NoCustom>;
  nodeGraph: PanelOf<"nodeGraph", nodegraph.Options, NoCustom>;
  "status-history": PanelOf<"status-history", statushistory.Options, statushistory.FieldConfig>;
  trend: PanelOf<"trend", trend.Options, trend.FieldConfig>;
  xychart: PanelOf<"xychart", xychart.Options, xychart.FieldConfig>;
  // Core panels without published option types: their options are not checked.
  alertlist: PanelOf<"alertlist", Record<string, unknown>, Record<string, unknown>>;
  flamegraph: PanelOf<"flamegraph", Record<string, unknown>, NoCustom>;
  traces: PanelOf<"traces", Record<string, unknown>, NoCustom>;
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
