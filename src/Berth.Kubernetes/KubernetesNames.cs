using System.Globalization;
using System.Text.RegularExpressions;

namespace Berth.Kubernetes;

/// <summary>
/// Every name, label and selector Berth gives its Kubernetes objects, and the checks that make them valid. Jobs and
/// network policies are <c>berth-&lt;job id&gt;-build</c> and <c>berth-&lt;job id&gt;-run</c>; every job object and pod
/// carries <c>berth.job</c>, <c>berth.stage</c>, <c>berth.agent</c> and <c>berth.lease</c>.
/// </summary>
public static partial class KubernetesNames
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "berth";

    /// <summary>The job id (the same key as on Docker containers).</summary>
    public const string JobLabel = "berth.job";

    /// <summary><see cref="BuildStage"/> or <see cref="RunStage"/>.</summary>
    public const string StageLabel = "berth.stage";

    /// <summary>The agent that created the object: its restart sweep deletes every Job carrying its name.</summary>
    public const string AgentLabel = "berth.agent";

    /// <summary>The lease token of the claim the object belongs to: a fencing number, not a secret.</summary>
    public const string LeaseLabel = "berth.lease";

    public const string BuildStage = "build";
    public const string RunStage = "run";

    public const string BuildContainer = "buildkitd";
    public const string RunContainer = "job";

    /// <summary>buildkitd's gRPC port in the build pod; only the owning agent's pod may connect.</summary>
    public const int BuildkitPort = 1234;

    /// <summary>The label the StatefulSet controller puts on each agent pod: its name, which is the agent's name.</summary>
    public const string AgentPodLabel = "statefulset.kubernetes.io/pod-name";

    /// <summary>The label the control plane puts on every namespace: its name.</summary>
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    /// <summary>The agents' ServiceAccount, Role, RoleBinding, and their pods' <c>app.kubernetes.io/name</c>.</summary>
    public const string Agent = "berth-agent";

    /// <summary>The registry pods' <c>app.kubernetes.io/name</c>.</summary>
    public const string Registry = "berth-registry";

    public const string AppNameLabel = "app.kubernetes.io/name";

    public static string BuildJobName(string jobId) => $"berth-{CheckJobId(jobId)}-{BuildStage}";

    public static string RunJobName(string jobId) => $"berth-{CheckJobId(jobId)}-{RunStage}";

    /// <summary>The label selector of everything one agent created (its restart sweep).</summary>
    public static string AgentSelector(string agent) => $"{AgentLabel}={CheckAgent(agent)}";

    /// <summary>The job's own repository in the in-cluster registry: <c>&lt;host&gt;:&lt;port&gt;/jobs/&lt;id&gt;</c>.</summary>
    public static string ImageRepository(KubernetesSettings settings, string jobId) =>
        string.Create(CultureInfo.InvariantCulture, $"{settings.RegistryHost}:{settings.RegistryPort}/jobs/{CheckJobId(jobId)}");

    /// <summary>The run image: the job's repository at the manifest digest the agent computed when it pushed the scanned image.</summary>
    public static string Image(KubernetesSettings settings, string jobId, string manifestDigest) =>
        Digest().IsMatch(manifestDigest)
            ? $"{ImageRepository(settings, jobId)}@{manifestDigest}"
            : throw new ArgumentException($"'{manifestDigest}' is not a manifest digest (sha256: and 64 lower-case hex digits)", nameof(manifestDigest));

    /// <summary>The lease token in an object's labels, or null (a fenced create compares it with its own).</summary>
    public static long? LeaseOf(IDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(LeaseLabel, out var text)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var lease) && lease > 0
            ? lease
            : null;

    /// <summary>The labels of a job's Job, its pod template and its network policy.</summary>
    public static Dictionary<string, string> Labels(KubernetesJob job, string stage) => new()
    {
        [ManagedByLabel] = ManagedBy,
        [JobLabel] = CheckJobId(job.JobId),
        [StageLabel] = stage,
        [AgentLabel] = CheckAgent(job.Agent),
        [LeaseLabel] = job.LeaseToken > 0
            ? job.LeaseToken.ToString(CultureInfo.InvariantCulture)
            : throw new ArgumentOutOfRangeException(nameof(job), job.LeaseToken, "a lease token is positive"),
    };

    /// <summary>What a job's network policy selects: its pods of one stage, whatever attempt made them.</summary>
    public static Dictionary<string, string> PodSelector(string jobId, string stage) => new()
    {
        [JobLabel] = CheckJobId(jobId),
        [StageLabel] = stage,
    };

    /// <summary>
    /// 1-51 of <c>[a-z0-9]</c>: the Job name <c>berth-&lt;id&gt;-build</c> then stays within 63 characters, which the
    /// Job controller needs (it copies the name into a label of each pod).
    /// </summary>
    public static string CheckJobId(string jobId) =>
        JobId().IsMatch(jobId) ? jobId : throw new ArgumentException($"'{jobId}' is not a job id that fits a Kubernetes name (1-51 of [a-z0-9])", nameof(jobId));

    /// <summary>An agent's name is a label value (and its pod's name): 1-63 of <c>[a-z0-9-]</c>, starting and ending alphanumeric.</summary>
    public static string CheckAgent(string agent) =>
        AgentName().IsMatch(agent) ? agent : throw new ArgumentException($"'{agent}' is not an agent name that is also a pod name (1-63 of [a-z0-9-], alphanumeric at both ends)", nameof(agent));

    [GeneratedRegex("^[a-z0-9]{1,51}$")]
    private static partial Regex JobId();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex AgentName();

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Digest();
}
