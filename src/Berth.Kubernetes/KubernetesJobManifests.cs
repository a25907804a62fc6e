using System.Globalization;
using k8s.Models;
using static Berth.Kubernetes.KubernetesNames;

namespace Berth.Kubernetes;

/// <summary>
/// The objects an agent creates for one job (docs/kubernetes.md), and the one place that decides how a job's build
/// and run are confined on Kubernetes. Each Job is created suspended, its network policy is created owned by it, and
/// only then is it resumed (<see cref="Resume"/>): no pod of a job exists before the policy that confines it.
/// </summary>
public sealed class KubernetesJobManifests(KubernetesSettings settings)
{
    /// <summary>The uid and gid of every run: <c>nobody</c>. Under gVisor each pod has its own kernel, so jobs share no per-user limit.</summary>
    public const long RunUser = 65534;

    /// <summary>The rootless BuildKit image's user (changing it means rebuilding that image).</summary>
    public const long BuildUser = 1000;

    public const string DataPath = "/data";

    /// <summary>The job's result file. It is also the container's termination message: the kubelet reads it after exit.</summary>
    public const string PerfPath = "/data/perf.json";

    public const string BuildkitStatePath = "/home/user/.local/share/buildkit";

    /// <summary>Added to the ephemeral storage of a pod on top of its volume: the container's log and writable layer.</summary>
    public const int LogAndLayerAllowanceMb = 64;

    /// <summary>
    /// The build pod: rootless buildkitd listening on <see cref="BuildkitPort"/>. The agent drives it with
    /// <c>buildctl --addr tcp://&lt;pod ip&gt;:1234</c>, sends the context and base images through the BuildKit session,
    /// and receives the image as a tar; the pod itself reaches nothing.
    /// </summary>
    public V1Job BuildJob(KubernetesJob job)
    {
        var labels = Labels(job, BuildStage);
        var build = settings.Build;
        var container = new V1Container
        {
            Name = BuildContainer,
            Image = settings.BuildkitImage,
            ImagePullPolicy = "IfNotPresent",
            // The image's entrypoint is `rootlesskit buildkitd`. Without a process sandbox, RUN steps share buildkitd's
            // PID namespace: treat the whole pod as the job's code.
            Args = ["--addr", string.Create(CultureInfo.InvariantCulture, $"tcp://0.0.0.0:{BuildkitPort}"), "--oci-worker-no-process-sandbox"],
            Ports = [new V1ContainerPort { Name = BuildContainer, ContainerPort = BuildkitPort, Protocol = "TCP" }],
            ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = BuildkitPort }, PeriodSeconds = 1 },
            SecurityContext = new V1SecurityContext
            {
                Privileged = false,
                // rootlesskit maps the image's subordinate ids with the setuid newuidmap/newgidmap helpers.
                AllowPrivilegeEscalation = true,
                // rootlesskit and runc call unshare and mount, which RuntimeDefault refuses, and mount filesystems,
                // which the runtime's default AppArmor profile refuses.
                SeccompProfile = new V1SeccompProfile { Type = "Unconfined" },
                AppArmorProfile = new V1AppArmorProfile { Type = "Unconfined" },
            },
            Resources = Resources(build.Cpus, build.MemoryMb, build.DiskMb + LogAndLayerAllowanceMb),
            VolumeMounts = [new V1VolumeMount { Name = "buildkit-state", MountPath = BuildkitStatePath }],
        };
        var pod = new V1PodSpec
        {
            RestartPolicy = "Never",
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            TerminationGracePeriodSeconds = settings.KillGraceSeconds,
            SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, RunAsUser = BuildUser, RunAsGroup = BuildUser, FsGroup = BuildUser },
            Containers = [container],
            Volumes = [new V1Volume { Name = "buildkit-state", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = Mebibytes(build.DiskMb) } }],
        };
        return NewJob(BuildJobName(job.JobId), settings.BuildNamespace, labels, build.TimeoutSeconds, BuildContainer, pod);
    }

    /// <summary>Only the owning agent's pod may reach the build pod, and only buildkitd's port; the build pod reaches nothing.</summary>
    public V1NetworkPolicy BuildNetworkPolicy(KubernetesJob job, string buildJobUid) =>
        NewPolicy(BuildJobName(job.JobId), settings.BuildNamespace, Labels(job, BuildStage), buildJobUid, PodSelector(job.JobId, BuildStage),
        [
            new V1NetworkPolicyIngressRule
            {
                FromProperty =
                [
                    new V1NetworkPolicyPeer
                    {
                        NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [NamespaceNameLabel] = settings.AgentNamespace } },
                        PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [AgentPodLabel] = CheckAgent(job.Agent) } },
                    },
                ],
                Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = BuildkitPort }],
            },
        ]);

    /// <summary>The run: the scanned image by digest, as <see cref="RunUser"/>, under gVisor, with no network and no token.</summary>
    public V1Job RunJob(KubernetesJob job, string manifestDigest)
    {
        var labels = Labels(job, RunStage);
        var limits = job.Limits;
        var container = new V1Container
        {
            Name = RunContainer,
            Image = Image(settings, job.JobId, manifestDigest),
            ImagePullPolicy = "IfNotPresent",
            SecurityContext = new V1SecurityContext
            {
                Privileged = false,
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
            Resources = Resources(limits.Cpus, limits.MemoryMb, limits.DataMb + LogAndLayerAllowanceMb),
            TerminationMessagePath = PerfPath,
            TerminationMessagePolicy = "File",
            VolumeMounts =
            [
                new V1VolumeMount { Name = "data", MountPath = DataPath },
                new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
            ],
        };
        var pod = new V1PodSpec
        {
            RestartPolicy = "Never",
            RuntimeClassName = settings.RuntimeClassName,
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            TerminationGracePeriodSeconds = settings.KillGraceSeconds,
            SecurityContext = new V1PodSecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = RunUser,
                RunAsGroup = RunUser,
                FsGroup = RunUser,
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            Containers = [container],
            Volumes =
            [
                new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = Mebibytes(limits.DataMb) } },
                new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = Mebibytes(settings.TmpMb) } },
            ],
        };
        return NewJob(RunJobName(job.JobId), settings.RunNamespace, labels, limits.TimeoutSeconds, RunContainer, pod);
    }

    /// <summary>Deny all: the run pod sends and receives nothing.</summary>
    public V1NetworkPolicy RunNetworkPolicy(KubernetesJob job, string runJobUid) =>
        NewPolicy(RunJobName(job.JobId), settings.RunNamespace, Labels(job, RunStage), runJobUid, PodSelector(job.JobId, RunStage), null);

    /// <summary>The merge patch that starts a suspended Job once its network policy exists.</summary>
    public static V1Patch Resume { get; } = new("""{"spec":{"suspend":false}}""", V1Patch.PatchType.MergePatch);

    /// <summary>
    /// How an agent deletes one of its Jobs (done, canceled, lease lost): the pods go first, then the Job, and the UID
    /// precondition makes sure it never deletes a later attempt's Job of the same name.
    /// </summary>
    public static V1DeleteOptions Deletion(string jobUid) => new()
    {
        PropagationPolicy = "Foreground",
        Preconditions = new V1Preconditions { Uid = CheckUid(jobUid) },
    };

    private V1Job NewJob(string name, string ns, Dictionary<string, string> labels, int deadlineSeconds, string container, V1PodSpec pod) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1JobSpec
        {
            Suspend = true,
            BackoffLimit = 0,
            ActiveDeadlineSeconds = deadlineSeconds,
            TtlSecondsAfterFinished = settings.FinishedJobTtlSeconds,
            PodFailurePolicy = new V1PodFailurePolicy
            {
                Rules =
                [
                    // A pod taken away for reasons outside the job (node-pressure eviction, drain, preemption, a lost node)
                    // fails the Job at once: retrying is Berth's decision (the lease and its attempt count), never a second
                    // pod here. A pod evicted for its own /data or ephemeral-storage limit has no such condition: its
                    // killed container fails the Job through the exit-code rule.
                    new V1PodFailurePolicyRule
                    {
                        Action = "FailJob",
                        OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }],
                    },
                    new V1PodFailurePolicyRule
                    {
                        Action = "FailJob",
                        OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = container, OperatorProperty = "NotIn", Values = [0] },
                    },
                ],
            },
            Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) }, Spec = pod },
        },
    };

    private static V1NetworkPolicy NewPolicy(string name, string ns, Dictionary<string, string> labels, string ownerUid, Dictionary<string, string> selector, IList<V1NetworkPolicyIngressRule>? ingress) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = labels,
            OwnerReferences = [new V1OwnerReference { ApiVersion = "batch/v1", Kind = "Job", Name = name, Uid = CheckUid(ownerUid), Controller = true }],
        },
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = selector },
            PolicyTypes = ["Ingress", "Egress"],
            Ingress = ingress,
        },
    };

    /// <summary>Requests equal to limits: the scheduler reserves exactly what the pod may use.</summary>
    private static V1ResourceRequirements Resources(double cpus, int memoryMb, int diskMb)
    {
        var quantities = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(string.Create(CultureInfo.InvariantCulture, $"{(long)Math.Round(cpus * 1000)}m")),
            ["memory"] = Mebibytes(memoryMb),
            ["ephemeral-storage"] = Mebibytes(diskMb),
        };
        return new V1ResourceRequirements { Requests = quantities, Limits = new Dictionary<string, ResourceQuantity>(quantities) };
    }

    private static ResourceQuantity Mebibytes(int mebibytes) => new(string.Create(CultureInfo.InvariantCulture, $"{mebibytes}Mi"));

    private static string CheckUid(string uid) =>
        Guid.TryParse(uid, out _) ? uid : throw new ArgumentException($"'{uid}' is not the UID the API server gave the Job", nameof(uid));
}
