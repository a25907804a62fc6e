namespace Berth.Server.Docker;

/// <summary>
/// Every name and label Berth gives a job's things on the engine and the host, and the one parser of each. All
/// carry the instance id (<see cref="Configuration.InstanceIdentity"/>), so two Berths sharing an engine never touch
/// each other's: image tags <c>berth-&lt;instance&gt;/job-&lt;id&gt;</c>, container names
/// <c>berth-&lt;instance&gt;-job-&lt;id&gt;</c>, labels <c>berth.job</c>/<c>berth.instance</c>/<c>berth.cache</c>, and
/// build cgroups <c>/berth-&lt;instance&gt;-build/&lt;id&gt;</c>.
/// </summary>
public sealed class EngineNames(string instance)
{
    /// <summary>On a job's container: the job id.</summary>
    public const string JobLabel = "berth.job";

    /// <summary>On a job's container and every layer of its build: the instance id.</summary>
    public const string InstanceLabel = "berth.instance";

    /// <summary>On every layer of a build: the owner's cache key, so one owner never hits another's build cache.</summary>
    public const string CacheLabel = "berth.cache";

    /// <summary>On a built image: the digest of everything its build depended on (<see cref="Pipeline.Stages.ImageReuse"/>).</summary>
    public const string ContentLabel = "berth.content";

    public string Instance => instance;

    /// <summary><c>berth-&lt;instance&gt;/job-&lt;id&gt;</c>.</summary>
    public string ImageTag(string jobId) => $"{ImageRepositoryPrefix}{jobId}";

    /// <summary>The reference filter matching every job image of this instance.</summary>
    public string ImageTagPattern => $"{ImageRepositoryPrefix}*";

    /// <summary>The job id of one of this instance's image tags (<c>berth-&lt;instance&gt;/job-&lt;id&gt;[:tag]</c>), or null.</summary>
    public string? JobOfImageTag(string reference) =>
        reference.StartsWith(ImageRepositoryPrefix, StringComparison.Ordinal) && reference[ImageRepositoryPrefix.Length..].Split(':')[0] is { Length: > 0 } id
            ? id
            : null;

    public string ContainerName(string jobId) => $"berth-{instance}-job-{jobId}";

    /// <summary>The labels of a job's container.</summary>
    public IDictionary<string, string> ContainerLabels(string jobId) =>
        new Dictionary<string, string> { [JobLabel] = jobId, [InstanceLabel] = instance };

    /// <summary>The label filter (<c>key=value</c>) matching every job container and build layer of this instance.</summary>
    public string InstanceFilter => $"{InstanceLabel}={instance}";

    /// <summary>The label filter matching one job's containers.</summary>
    public static string JobFilter(string jobId) => $"{JobLabel}={jobId}";

    /// <summary>The label filter matching one owner's build layers.</summary>
    public static string CacheFilter(string cacheKey) => $"{CacheLabel}={cacheKey}";

    /// <summary>The job id on a container's labels, or null when it is not a job container.</summary>
    public static string? JobOfLabels(IReadOnlyDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(JobLabel, out var job) && job.Length > 0 ? job : null;

    /// <summary>The cgroup directory (below a controller's root) holding this instance's build cgroups.</summary>
    public string BuildCgroupParent => $"berth-{instance}-build";

    /// <summary>The build's <c>cgroupparent</c>, as the engine takes it.</summary>
    public string BuildCgroup(string jobId) => $"/{BuildCgroupParent}/{jobId}";

    private string ImageRepositoryPrefix => $"berth-{instance}/job-";
}
