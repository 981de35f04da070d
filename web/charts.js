// Two small line charts over the run's wall time (uPlot, loaded by the page as a global):
// operations per second, and the mean lazy window — how long an unmapped IOVA stayed
// reachable through the IOTLB before the flush queue's flush invalidated it — per interval.
// The window is empty (a gap) while the domain is strict: no unmap waits for a flush then.

export function createCharts(opsEl, windowEl) {
  const opsChart = makeChart(opsEl, "ops/s", "#3b6fd8");
  const windowChart = makeChart(windowEl, "lazy window (µs)", "#d9822b");
  let xs = [], ops = [], win = [];

  function reset() {
    xs = []; ops = []; win = [];
    opsChart.setData([xs, ops]);
    windowChart.setData([xs, win]);
  }

  function push(t, opsPerSec, windowUs) {
    xs.push(t); ops.push(opsPerSec); win.push(windowUs);
    opsChart.setData([xs, ops]);
    windowChart.setData([xs, win]);
  }

  addEventListener("resize", () => {
    for (const [c, e] of [[opsChart, opsEl], [windowChart, windowEl]]) c.setSize({ width: e.clientWidth, height: 170 });
  });
  return { push, reset };
}

function makeChart(target, label, color) {
  const opts = {
    width: Math.max(300, target.clientWidth), height: 170,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false } },
    series: [{ label: "s" }, { label, stroke: color, width: 2, fill: color + "22", spanGaps: false }],
    axes: [{ label: "wall time (s)", size: 40 }, { label, size: 70, labelSize: 18 }],
  };
  return new uPlot(opts, [[], []], target);
}
