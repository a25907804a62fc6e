using k8s;
using k8s.Models;

namespace Berth.Kubernetes.Tests;

/// <summary>The sample job docs/kubernetes.md shows, and every manifest block the document holds for it, by block name.</summary>
internal static class DocumentedSample
{
    public static readonly KubernetesSettings Settings = new() { NodeCidr = "10.0.0.0/16" };

    public static readonly KubernetesJob Job = new("0197a3c0e4b87d2f9c1e5a6b7d8e9f01", 7340, "berth-agent-0", new RunLimits(TimeoutSeconds: 600, MemoryMb: 512, Cpus: 1, DataMb: 256));

    public const string ManifestDigest = "sha256:5d41402abc4b2a76b9719d911017c592b1946e0e6ac2b5e8f1a7c4c7a6c0f3e2";

    /// <summary>The UIDs the API server would have given the two Jobs (the policies' owner references).</summary>
    public const string BuildJobUid = "6c1f2a3b-4d5e-4f60-8a71-b2c3d4e5f607";

    public const string RunJobUid = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d";

    /// <summary>Block name → the YAML the generator makes for it (several objects joined with <c>---</c>).</summary>
    public static IReadOnlyDictionary<string, string> Blocks()
    {
        var job = new KubernetesJobManifests(Settings);
        var install = new KubernetesInstallManifests(Settings);
        return new Dictionary<string, string>
        {
            ["build-job"] = Yaml(job.BuildJob(Job)),
            ["build-network-policy"] = Yaml(job.BuildNetworkPolicy(Job, BuildJobUid)),
            ["run-job"] = Yaml(job.RunJob(Job, ManifestDigest)),
            ["run-network-policy"] = Yaml(job.RunNetworkPolicy(Job, RunJobUid)),
            ["delete-options"] = Yaml(KubernetesJobManifests.Deletion(RunJobUid)),
            ["install"] = string.Join("---\n", install.All().Select(Yaml)),
        };
    }

    /// <summary>One object as <c>kubectl apply -f</c> takes it, ending in a newline like every line of the document.</summary>
    private static string Yaml(object value) => KubernetesYaml.Serialize(value) + "\n";
}
