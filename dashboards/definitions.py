"""The four provisioned dashboards: what ops teams see in Grafana.

ClickHouse panels read the per-unit views (sinks/migrations 0007) wherever they can, and the
history tables only for what the views do not hold; a history query also filters on ingested_at,
which its skip index prunes (a row is stored after it is reported or rejected, so the extra
condition drops nothing). Prometheus panels read the processes' own metrics
(stream_apps/metrics.py, sinks/metrics.py).

Panels about the approval-window check API (checks per second, latency) use the checks audit
table; its latency histogram belongs to the check-API issue and is added there.
"""
from __future__ import annotations

from dashboards.grafana_json import Panel, constant, dashboard, promql, sql, unit_variable

DB = "${database}"
UNIT = "match(source_unit, '^(${unit:regex})$')"
RATE = "$__rate_interval"
BEIJING = "'Asia/Shanghai'"
VARIABLES = [constant("database", "creditstream"),
             unit_variable(f"SELECT DISTINCT source_unit FROM {DB}.unit_counts_day ORDER BY source_unit")]

PASS_RATE = "if(records + rejected = 0, NULL, records / (records + rejected))"
PERCENT = {"min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "orange", "value": 0.9}, {"color": "green", "value": 0.98}]}}


def collection() -> dict:
    panels = [
        Panel(1, "各单位各指标集实时计数 Live counts per unit and indicator set", "table", 24, 10, [sql(f"""
SELECT source_unit, catalog, sum(records) AS records, sum(rejected) AS rejected, {PASS_RATE} AS pass_rate,
       sum(late) AS late, sum(duplicates) AS duplicates
FROM {DB}.unit_counts_minute
WHERE $__timeFilter(minute) AND {UNIT}
GROUP BY source_unit, catalog
ORDER BY source_unit, catalog""")],
              description="Records stored, rejected, late and duplicate per unit and indicator set in the time range.",
              columns={"source_unit": "信源单位 Unit", "catalog": "指标集 Indicator set", "records": "入库 Records",
                       "rejected": "退回 Rejected", "pass_rate": "入库合格率 Pass rate", "late": "逾期 Late",
                       "duplicates": "重复 Duplicates"}),
        Panel(2, "每分钟上报量 Reports per minute by unit", "timeseries", 16, 9, [sql(f"""
SELECT $__timeInterval(minute) AS time, source_unit, sum(records + rejected) AS reports
FROM {DB}.unit_counts_minute
WHERE $__timeFilter(minute) AND {UNIT}
GROUP BY time, source_unit
ORDER BY time, source_unit""", time_series=True)],
              columns={"time": "", "source_unit": "", "reports": "上报 Reports"}, defaults={"displayName": "${__field.labels.source_unit}"}),
        Panel(3, "入库合格率 Pass rate per unit", "bargauge", 8, 9, [sql(f"""
SELECT source_unit, sum(records) / (sum(records) + sum(rejected)) AS pass_rate
FROM {DB}.unit_counts_minute
WHERE $__timeFilter(minute) AND {UNIT}
GROUP BY source_unit
HAVING sum(records) + sum(rejected) > 0
ORDER BY pass_rate, source_unit""")],
              description="入库合格率 = records stored / (stored + rejected).", unit="percentunit", defaults=PERCENT,
              columns={"source_unit": "信源单位 Unit", "pass_rate": "入库合格率 Pass rate"}),
        Panel(4, "退回原因 Rejections by reason", "barchart", 8, 9, [sql(f"""
SELECT reason, count() AS rejections
FROM {DB}.rejections
ARRAY JOIN arrayDistinct(reason_codes) AS reason
WHERE $__timeFilter(rejected_at) AND ingested_at >= $__fromTime AND {UNIT}
GROUP BY reason
ORDER BY rejections DESC, reason""")],
              description="Rejections citing each reason code (a rejection may cite several).",
              columns={"reason": "原因 Reason", "rejections": "退回 Rejections"}, options={"xField": "reason"}),
        Panel(5, "时效分布 Timeliness: working days from decision to report", "barchart", 8, 9, [sql(f"""
SELECT multiIf(timeliness_days IS NULL, '未知 unknown', timeliness_days <= 0, '0 当天 same day',
               timeliness_days <= 2, '1-2', timeliness_days <= 7, '3-7', timeliness_days <= 20, '8-20', '>20')
           AS working_days,
       count() AS records
FROM {DB}.records
WHERE $__timeFilter(reported_at) AND ingested_at >= $__fromTime AND {UNIT}
GROUP BY working_days
ORDER BY min(ifNull(timeliness_days, 1000000))""")],
              columns={"working_days": "工作日 Working days", "records": "入库 Records"},
              options={"xField": "working_days"}),
        Panel(6, "按时上报率 On-time share per unit", "bargauge", 8, 9, [sql(f"""
SELECT source_unit, 1 - sum(late) / sum(records) AS on_time
FROM {DB}.unit_counts_minute
WHERE $__timeFilter(minute) AND {UNIT}
GROUP BY source_unit
HAVING sum(records) > 0
ORDER BY on_time, source_unit""")],
              description="Share of stored records reported within the unit's deadline (2 working days in Huangshi).",
              unit="percentunit", defaults=PERCENT, columns={"source_unit": "信源单位 Unit", "on_time": "按时率 On time"}),
        Panel(7, "逾期与重复 Late and duplicate reports per minute", "timeseries", 24, 8, [sql(f"""
SELECT $__timeInterval(minute) AS time, sum(late) AS late, sum(duplicates) AS duplicates
FROM {DB}.unit_counts_minute
WHERE $__timeFilter(minute) AND {UNIT}
GROUP BY time
ORDER BY time""", time_series=True)],
              columns={"time": "", "late": "逾期 Late", "duplicates": "重复 Duplicates"}),
    ]
    return dashboard("creditstream-collection", "归集总览 Collection overview",
                     "Live counts, 入库合格率, timeliness and rejections per reporting unit (ClickHouse).",
                     panels, VARIABLES, tags=("clickhouse",))


def compliance() -> dict:
    month = f"toStartOfMonth(toDate($__toTime, {BEIJING}))"
    panels = [
        Panel(1, "零报送合规（本月） Zero-report compliance, this month", "table", 24, 10, [sql(f"""
SELECT source_unit, catalog, sum(reported) AS reports, sum(zero) AS zero_reports,
       multiIf(reports > 0, '已报送 reported', zero_reports > 0, '零报送 zero report', '未报送 silent') AS status
FROM
(
    SELECT source_unit, catalog, sumIf(records + rejected, month = {month}) AS reported, toUInt64(0) AS zero
    FROM {DB}.unit_counts_month
    WHERE month >= addMonths({month}, -12)
    GROUP BY source_unit, catalog
    UNION ALL
    SELECT source_unit, catalog, toUInt64(0), count()
    FROM {DB}.zero_reports
    WHERE period_kind = 'MONTH' AND period_start = {month}
    GROUP BY source_unit, catalog
)
WHERE {UNIT}
GROUP BY source_unit, catalog
ORDER BY status = '未报送 silent' DESC, source_unit, catalog""")],
              description="Every unit and indicator set seen in the last 12 months: reported this month, sent a "
                          "zero report (零报送) for it, or silent — silence is a compliance failure, not 'no data'.",
              columns={"source_unit": "信源单位 Unit", "catalog": "指标集 Indicator set", "reports": "本月上报 Reports",
                       "zero_reports": "零报送 Zero reports", "status": "状态 Status"}),
        Panel(2, "月度统计 Monthly statistics per unit", "table", 24, 10, [sql(f"""
SELECT month, source_unit, sum(records) AS records, sum(rejected) AS rejected, {PASS_RATE} AS pass_rate,
       sum(late) AS late, if(records = 0, NULL, 1 - late / records) AS on_time, sum(duplicates) AS duplicates
FROM {DB}.unit_counts_month
WHERE month >= toStartOfMonth(toDate($__fromTime, {BEIJING})) AND month <= toDate($__toTime, {BEIJING})
  AND {UNIT}
GROUP BY month, source_unit
ORDER BY month DESC, source_unit""")],
              description="The seeds' monthly figures per unit: records reported, 入库合格率, timeliness.",
              columns={"month": "月份 Month", "source_unit": "信源单位 Unit", "records": "入库 Records",
                       "rejected": "退回 Rejected", "pass_rate": "入库合格率 Pass rate", "late": "逾期 Late",
                       "on_time": "按时率 On time", "duplicates": "重复 Duplicates"}),
        Panel(3, "每日入库合格率 Daily pass rate per unit", "timeseries", 24, 9, [sql(f"""
SELECT toDateTime(day, {BEIJING}) AS time, source_unit, sum(records) / (sum(records) + sum(rejected)) AS pass_rate
FROM {DB}.unit_counts_day
WHERE day >= toDate($__fromTime, {BEIJING}) AND day <= toDate($__toTime, {BEIJING}) AND {UNIT}
GROUP BY time, source_unit
HAVING sum(records) + sum(rejected) > 0
ORDER BY time, source_unit""", time_series=True)],
              unit="percentunit", defaults={**PERCENT, "displayName": "${__field.labels.source_unit}"},
              columns={"time": "", "source_unit": "", "pass_rate": "入库合格率 Pass rate"}),
    ]
    return dashboard("creditstream-compliance", "报送合规 Reporting compliance",
                     "Zero reports (零报送), monthly statistics and daily 入库合格率 per unit (ClickHouse).",
                     panels, VARIABLES, time_from="now-30d", refresh="1m", tags=("clickhouse",))


LISTED = "ifNull(toString(status), '') IN ('ACTIVE', 'SUSPENDED') AND change = 'UPSERT'"


def lists() -> dict:
    panels = [
        Panel(1, "黑名单在列主体 Subjects on the blacklist", "stat", 6, 6, [sql(f"""
SELECT countIf(last_change = 'UPSERT' AND exited_on IS NULL) AS listed
FROM {DB}.blacklist_current""")], columns={"listed": "在列 Listed"}),
        Panel(2, "按名单 Listed subjects per list", "bargauge", 6, 6, [sql(f"""
SELECT list, count() AS subjects
FROM {DB}.blacklist_current
ARRAY JOIN lists AS list
WHERE last_change = 'UPSERT' AND exited_on IS NULL
GROUP BY list
ORDER BY subjects DESC, list""")], columns={"list": "名单 List", "subjects": "主体 Subjects"}),
        Panel(3, "名单流向 Blacklist flow: subjects joining and leaving", "timeseries", 12, 6, [sql(f"""
SELECT $__timeInterval(changed_at) AS time, if(listed, '列入 joined', '移出 left') AS flow, count() AS subjects
FROM
(
    SELECT changed_at, listed,
           lagInFrame(listed, 1, false) OVER (PARTITION BY subject_key ORDER BY kafka_offset
                                              ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS was_listed
    FROM (SELECT subject_key, changed_at, kafka_offset, {LISTED} AS listed FROM {DB}.blacklist_history)
)
WHERE listed != was_listed AND $__timeFilter(changed_at)
GROUP BY time, flow
ORDER BY time, flow""", time_series=True)],
              description="A subject joins when its first live entry is published and leaves with its tombstone.",
              columns={"time": "", "flow": "", "subjects": "主体 Subjects"}, defaults={"displayName": "${__field.labels.flow}"}),
        Panel(4, "名单规模（流处理） List size in the stream workers", "timeseries", 12, 7, [
            promql("sum by (list) (creditstream_stream_list_subjects)", "{{list}}")]),
        Panel(5, "名单变动 List changes", "timeseries", 12, 7, [
            promql(f"sum by (list, change) (increase(creditstream_stream_list_changes_total[{RATE}]))",
                   "{{list}} {{change}}")]),
        Panel(6, "每分钟核查 Approval-window checks per minute", "timeseries", 12, 8, [sql(f"""
SELECT $__timeInterval(requested_at) AS time, count() AS checks, countIf(listed) AS hits
FROM {DB}.checks
WHERE $__timeFilter(requested_at)
GROUP BY time
ORDER BY time""", time_series=True)], description="逢报必查: checks recorded in the audit table, and those that hit a list.",
              columns={"time": "", "checks": "核查 Checks", "hits": "命中 Hits"}),
        Panel(7, "命中率 Hit rate", "stat", 4, 8, [sql(f"""
SELECT if(count() = 0, NULL, countIf(listed) / count()) AS hit_rate
FROM {DB}.checks
WHERE $__timeFilter(requested_at)""")], unit="percentunit", columns={"hit_rate": "命中率 Hit rate"}),
        Panel(8, "按申请单位 Checks per requesting unit", "table", 8, 8, [sql(f"""
SELECT requesting_unit, count() AS checks, countIf(listed) AS hits, hits / checks AS hit_rate
FROM {DB}.checks
WHERE $__timeFilter(requested_at)
GROUP BY requesting_unit
ORDER BY checks DESC, requesting_unit""")],
              columns={"requesting_unit": "申请单位 Requesting unit", "checks": "核查 Checks", "hits": "命中 Hits",
                       "hit_rate": "命中率 Hit rate"}),
    ]
    return dashboard("creditstream-lists", "联合惩戒 Blacklist and checks",
                     "Blacklist size and flow (ClickHouse history, stream workers' state) and approval-window "
                     "checks (audit table).", panels, VARIABLES[:1], tags=("clickhouse", "prometheus"))


def _quantile(q: float, metric: str, by: str = "") -> str:
    return f"histogram_quantile({q}, sum by (le{', ' + by if by else ''}) (rate({metric}_bucket[{RATE}])))"


def pipeline() -> dict:
    jobs = '{job=~"worker|sink"}'
    panels = [
        Panel(1, "流入 Events in per unit", "timeseries", 12, 8, [
            promql(f"sum by (unit) (rate(creditstream_stream_events_in_total[{RATE}]))", "{{unit}}")], unit="ops"),
        Panel(2, "处理结果 Events out by outcome", "timeseries", 12, 8, [
            promql(f"sum by (outcome) (rate(creditstream_stream_events_out_total[{RATE}]))", "{{outcome}}")],
              unit="ops", description="record, duplicate (kept, flagged duplicate_of), rejected, replay (dropped)."),
        Panel(3, "退回原因 Rejects by reason", "timeseries", 8, 8, [
            promql(f"sum by (reason) (rate(creditstream_stream_rejects_total[{RATE}]))", "{{reason}}")], unit="ops"),
        Panel(4, "逾期上报 Late reports per unit", "timeseries", 8, 8, [
            promql(f"sum by (unit) (rate(creditstream_stream_late_total[{RATE}]))", "{{unit}}")], unit="ops"),
        Panel(5, "重复上报 Duplicates per unit", "timeseries", 8, 8, [
            promql(f'sum by (unit) (rate(creditstream_stream_events_out_total{{outcome="duplicate"}}[{RATE}]))',
                   "{{unit}}")], unit="ops"),
        Panel(6, "处理时延 Inbound to committed output", "timeseries", 8, 8, [
            promql(_quantile(0.5, "creditstream_stream_latency_seconds"), "p50", "A"),
            promql(_quantile(0.95, "creditstream_stream_latency_seconds"), "p95", "B")], unit="s"),
        Panel(7, "流处理积压 Stream lag per partition", "timeseries", 8, 8, [
            promql("sum by (partition) (creditstream_stream_consumer_lag)", "credit.inbound/{{partition}}")],
              unit="short"),
        Panel(8, "入库积压 Sink lag per topic-partition", "timeseries", 8, 8, [
            promql("sum by (topic, partition) (creditstream_sink_lag_messages)", "{{topic}}/{{partition}}")],
              unit="short"),
        Panel(9, "入库速率 Rows stored per table", "timeseries", 8, 8, [
            promql(f"sum by (table) (rate(creditstream_sink_rows_stored_total[{RATE}]))", "{{table}}")], unit="ops"),
        Panel(10, "批大小 Sink batch size (median)", "timeseries", 8, 8, [
            promql(_quantile(0.5, "creditstream_sink_batch_rows", "table"), "{{table}}")], unit="short"),
        Panel(11, "写入时延 ClickHouse insert latency (p95)", "timeseries", 8, 8, [
            promql(_quantile(0.95, "creditstream_sink_insert_seconds", "table"), "{{table}}")], unit="s"),
        Panel(12, "流处理批次 Worker batch size and time", "timeseries", 12, 8, [
            promql(_quantile(0.5, "creditstream_stream_batch_events"), "events per batch (median)", "A"),
            promql(_quantile(0.95, "creditstream_stream_batch_seconds"), "seconds per batch (p95)", "B")]),
        Panel(13, "ClickHouse 可用性 ClickHouse availability", "timeseries", 12, 8, [
            promql("max(creditstream_sink_clickhouse_unavailable)", "unavailable (1)", "A"),
            promql(f"sum(increase(creditstream_sink_retries_total[{RATE}]))", "retries", "B"),
            promql(f"sum(increase(creditstream_sink_store_faults_total[{RATE}]))", "of which the sink's own errors", "C")]),
        Panel(14, "进程状态 Processes up", "stat", 8, 6, [promql(f"up{jobs}", "{{job}} {{instance}}")],
              defaults={"mappings": [{"type": "value", "options": {
                  "0": {"text": "停止 down", "color": "red"}, "1": {"text": "运行 up", "color": "green"}}}]}),
        Panel(15, "内存 Resident memory", "timeseries", 8, 6, [
            promql(f"process_resident_memory_bytes{jobs}", "{{job}} {{instance}}")], unit="bytes"),
        Panel(16, "处理器 CPU", "timeseries", 8, 6, [
            promql(f"rate(process_cpu_seconds_total{jobs}[{RATE}])", "{{job}} {{instance}}"),
        ], unit="percentunit"),
        Panel(17, "分区分配 Inbound partitions owned per worker", "timeseries", 24, 6, [
            promql("creditstream_stream_assigned_partitions", "{{instance}}")], unit="short"),
    ]
    return dashboard("creditstream-pipeline", "管道运行 Pipeline throughput, lag and health",
                     "Prometheus metrics of the stream workers and the ClickHouse sinks.", panels, [],
                     refresh="10s", time_from="now-1h", tags=("prometheus",))


ALL = {"collection": collection, "compliance": compliance, "lists": lists, "pipeline": pipeline}
