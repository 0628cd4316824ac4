// Usage charts (Chart.js, served from /static/vendor): stacked bars by day, one dataset per model.
(function () {
  const node = document.getElementById("usage-data");
  if (!node || typeof Chart === "undefined") return;
  const data = JSON.parse(node.textContent || "{}");
  const palette = ["#4f6df5", "#e8793a", "#2ea77a", "#c94fb0", "#d4b02a", "#3bb3c9", "#8a5cf6", "#e0475b"];
  const labels = data.days.map((d) => d.slice(5));
  function draw(id, series, title, money) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels,
        datasets: data.models.map((m, i) => ({ label: m, data: series[i], backgroundColor: palette[i % palette.length], stack: "s" })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: money ? { callback: (v) => "$" + (Number(v) === 0 ? "0" : Number(v).toPrecision(2)) } : {} },
        },
      },
    });
    canvas.dataset.points = String(series.reduce((n, row) => n + row.filter((v) => v > 0).length, 0));
    canvas.dataset.ready = "1";
    return chart;
  }
  draw("chart-tokens", data.tokens, "Tokens per day", false);
  draw("chart-cost", data.cost, "Cost per day (USD)", true);
})();
