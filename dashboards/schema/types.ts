// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Wrappers that turn @grafana/schema's generated types into the shape of a
// dashboard JSON file:
//   - Lit<T>: string enums accept their literal values ("absolute"), numeric
//     enums their numbers; everything else keeps its exact type, so a typo
//     in a field name is an excess-property error and a wrong enum value is
//     a type error.
//   - DeepPartial<T>: panel plugin options and custom field config may omit
//     fields (Grafana fills them from the plugin defaults).
import type {
  DataQuery,
  Dashboard,
  DataSourceRef,
  FieldConfig,
  MatcherConfig,
  Panel,
  RowPanel,
  VariableModel,
} from '@grafana/schema';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

type Primitive = string | number | boolean | null | undefined;

export type Lit<T> = T extends string
  ? string extends T
    ? string
    : `${T}`
  : T extends Primitive
    ? T
    : T extends Array<infer U>
      ? Array<Lit<U>>
      : T extends object
        ? { [K in keyof T]: Lit<T[K]> }
        : T;

export type DeepPartial<T> = T extends Primitive
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

// Grafana's Prometheus query model (public/app/plugins/datasource/prometheus
// dataquery): @grafana/schema types panel targets only as records.
export interface PrometheusQuery extends Omit<DataQuery, 'datasource'> {
  datasource: Lit<DataSourceRef>;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
  editorMode?: 'code' | 'builder';
  exemplar?: boolean;
}

type Override = {
  matcher: Lit<MatcherConfig>;
  properties: Array<{ id: string; value?: unknown }>;
};

type PanelOf<TypeName extends string, Options, Custom> = Omit<
  Lit<Panel>,
  'type' | 'options' | 'fieldConfig' | 'targets'
> & {
  type: TypeName;
  options: DeepPartial<Lit<Options>>;
  fieldConfig: {
    defaults: Omit<Lit<FieldConfig>, 'custom'> & { custom?: DeepPartial<Lit<Custom>> };
    overrides: Array<Override>;
  };
  targets: Array<PrometheusQuery>;
};

export type StatPanel = PanelOf<'stat', Stat.Options, Record<string, never>>;
export type TimeSeriesPanel = PanelOf<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>;
export type BarGaugePanel = PanelOf<'bargauge', BarGauge.Options, Record<string, never>>;
export type TablePanel = PanelOf<'table', Table.Options, Table.FieldConfig>;
export type Row = Lit<RowPanel>;

export type AnyPanel = StatPanel | TimeSeriesPanel | BarGaugePanel | TablePanel | Row;

export type DashboardFile = Omit<Lit<Dashboard>, 'panels' | 'templating' | 'id'> & {
  id: null;
  uid: string;
  panels: Array<AnyPanel>;
  templating: { list: Array<Lit<VariableModel>> };
};
