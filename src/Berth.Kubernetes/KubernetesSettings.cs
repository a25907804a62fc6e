namespace Berth.Kubernetes;

/// <summary>
/// One installation's choices for running Berth jobs on Kubernetes (docs/kubernetes.md): where the agents, the build
/// pods and the run pods live, which images and runtime they use, and the build limits. Defaults mirror Berth's own.
/// </summary>
public sealed record KubernetesSettings
{
    /// <summary>The trusted namespace: the agents (a StatefulSet, so each agent's name is its pod's name) and the registry.</summary>
    public string AgentNamespace { get; init; } = "berth";

    /// <summary>Build pods only. Pod Security level <c>privileged</c>: rootless BuildKit needs seccomp and AppArmor unconfined.</summary>
    public string BuildNamespace { get; init; } = "berth-builds";

    /// <summary>Run pods only. Pod Security level <c>restricted</c> is enforced, so admission refuses a run pod without the controls.</summary>
    public string RunNamespace { get; init; } = "berth-runs";

    /// <summary>The in-cluster registry's name as every node's container runtime resolves it.</summary>
    public string RegistryHost { get; init; } = "registry.berth.svc";

    public int RegistryPort { get; init; } = 5000;

    /// <summary>
    /// The addresses a node's own traffic to a pod comes from (the kubelet's image pulls reach the registry from there).
    /// It depends on the network plugin: the node addresses, or their tunnel addresses with an overlay.
    /// </summary>
    public required string NodeCidr { get; init; }

    /// <summary>Rootless BuildKit; pin it by digest in a real installation.</summary>
    public string BuildkitImage { get; init; } = "moby/buildkit:v0.27.0-rootless";

    /// <summary>The RuntimeClass whose handler is runsc (gVisor) on the nodes.</summary>
    public string RuntimeClassName { get; init; } = "gvisor";

    /// <summary>Size of the memory-backed <c>/tmp</c> of a run pod (<c>Limits:TmpMb</c>), charged to the job's memory.</summary>
    public int TmpMb { get; init; } = 64;

    /// <summary>Seconds between SIGTERM and SIGKILL when a pod is deleted (<c>Limits:KillGraceSeconds</c>).</summary>
    public int KillGraceSeconds { get; init; } = 5;

    /// <summary>How long a finished Job stays if its agent never deletes it (the agent deletes it as soon as it has read it).</summary>
    public int FinishedJobTtlSeconds { get; init; } = 600;

    public BuildLimits Build { get; init; } = new();
}

/// <summary>The build pod's limits (Berth's <c>Build:*</c> settings).</summary>
/// <param name="DiskMb">The BuildKit state volume: base images, the job's layers unpacked and compressed, BuildKit's own files.</param>
/// <param name="MaxImageMb">The largest exported image the agent accepts from the build pod; it stops reading past it.</param>
public sealed record BuildLimits(int TimeoutSeconds = 900, int MemoryMb = 2048, double Cpus = 2, int DiskMb = 8192, int MaxImageMb = 4096);

/// <summary>What one run may use (Berth's <c>limits</c> of the job).</summary>
public sealed record RunLimits(int TimeoutSeconds, int MemoryMb, double Cpus, int DataMb);

/// <summary>One claimed job, as the agent knows it when it creates the job's objects.</summary>
/// <param name="JobId">Berth's job id: 32 lower-case hex digits today; anything of 1-51 <c>[a-z0-9]</c> fits the object names.</param>
/// <param name="LeaseToken">The claim's lease token: a fencing number (strictly increasing), carried in the <c>berth.lease</c> label.</param>
/// <param name="Agent">The agent's name, which is its pod's name: a valid label value.</param>
public sealed record KubernetesJob(string JobId, long LeaseToken, string Agent, RunLimits Limits);
