namespace Berth.Server.Jobs;

/// <summary>
/// Told once about every job that this process ends: called where its terminal state is written (the workers, a
/// canceled queued job, an agent's result, a lease that ran out), after the write.
/// </summary>
public interface IJobOutcomes
{
    /// <param name="job">The job in its terminal state (succeeded, failed or canceled), with its stages.</param>
    void Finished(Job job);
}
