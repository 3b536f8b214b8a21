// Prints, as JSON, the value sets Grafana itself accepts where the published types only say
// `string`: reducer ids (stat/gauge/table calcs, legend calcs), unit ids, the prefixes of
// custom units ("suffix:req", "si:B", ...) and field-override matcher ids. They come from the
// runtime registries of the pinned @grafana/data, the same code Grafana's frontend runs.
"use strict";
// The date-time unit formatters read the browser's language when the list is built.
globalThis.navigator ??= { language: "en-US", languages: ["en-US"] };
const data = require("@grafana/data");

const units = data.getValueFormats().flatMap((category) => category.submenu.map((unit) => unit.value));
// getValueFormat(id) reads "key:rest" ids with a fixed set of keys; anything else unknown is
// shown as a literal suffix (a typo shows up as text beside every value).
const unitPrefixes = [...data.getValueFormat.toString().matchAll(/key === "(\w+)"/g)].map((m) => m[1]);
const lists = {
  reducers: data.fieldReducers.list().map((reducer) => reducer.id),
  units,
  unitPrefixes,
  matchers: data.fieldMatchers.list().map((matcher) => matcher.id),
};
for (const [name, list] of Object.entries(lists)) {
  if (list.length === 0) throw new Error(`@grafana/data gave no ${name}: the checker is broken`);
}
process.stdout.write(JSON.stringify(lists));
