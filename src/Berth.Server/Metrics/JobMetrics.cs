using Berth.Server.Jobs;
using Prometheus;

namespace Berth.Server.Metrics;

/// <summary>
/// Berth's own metrics, in a registry of their own (the process, .NET and HTTP metrics are in prometheus-net's default
/// registry): jobs ended by outcome, stage durations, and the gauges <see cref="MetricsEndpoint"/> sets when scraped.
/// </summary>
public sealed class JobMetrics : IJobOutcomes
{
    /// <summary>The <c>reason</c> of a job that did not fail (succeeded, or canceled).</summary>
    public const string NoReason = "none";

    /// <summary>Stage durations from a tenth of a second (lint) to an hour (a long build or run).</summary>
    internal static readonly double[] StageBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    private readonly Counter _jobs;
    private readonly Histogram _stages;

    public JobMetrics()
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _jobs = factory.CreateCounter("berth_jobs_total",
            "Jobs that ended, by final status (succeeded, failed, canceled) and failure reason (none unless failed).",
            "status", "reason");
        _stages = factory.CreateHistogram("berth_stage_duration_seconds",
            "Time each pipeline stage (lint, build, scan, run, collect) took, by how it ended (succeeded, failed, canceled), of the jobs that ended.",
            new HistogramConfiguration { LabelNames = ["stage", "status"], Buckets = StageBuckets });
        QueueDepth = factory.CreateGauge("berth_queue_depth", "Jobs waiting to be claimed (queued).");
        ActiveJobs = factory.CreateGauge("berth_active_jobs", "Jobs being linted, built, scanned or run, by any worker or agent.");
        DatabaseAge = factory.CreateGauge("berth_scan_database_age_seconds",
            "Age of the advisory database scans use (since its data was taken); absent when its date is unknown.");
    }

    internal CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    internal Gauge QueueDepth { get; }

    internal Gauge ActiveJobs { get; }

    internal Gauge DatabaseAge { get; }

    internal const string OtherReason = "other";

    /// <summary>Counts the job and observes each of its stages that ran (started and finished).</summary>
    public void Finished(Job job)
    {
        if (!job.Status.IsTerminal())
        {
            return;
        }
        _jobs.WithLabels(job.Status.ToWire(), job.Status == JobStatus.Failed ? ReasonLabel(job.Failure?.Reason) : NoReason).Inc();
        foreach (var stage in job.Stages)
        {
            if (stage is { StartedAt: { } started, FinishedAt: { } finished } && finished >= started)
            {
                _stages.WithLabels(stage.Name, stage.Status.ToString().ToLowerInvariant()).Observe((finished - started).TotalSeconds);
            }
        }
    }

    /// <summary>
    /// The failure reason as a label: one of Berth's own reasons, else <c>other</c>. An agent reports the reason of the
    /// jobs it ran, and a label value it could choose freely would grow the metric without bound.
    /// </summary>
    internal static string ReasonLabel(string? reason) =>
        reason is null ? FailureReasons.InternalError : FailureReasons.IsKnown(reason) ? reason : OtherReason;
}
