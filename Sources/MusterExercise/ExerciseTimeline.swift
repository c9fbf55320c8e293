import MusterCore

extension ExerciseReplay {
    /// The run's timeline in scenario time, one or more lines per event: what `muster exercise timeline` prints
    /// and `GET /api/runs/{id}/timeline?format=scenario` answers.
    public var scenarioTimeline: String {
        var text = ""
        for event in events {
            for line in ExerciseText.lines(event, origin: exercise.origin, exercise: exercise.exercise) { text += line + "\n" }
        }
        return text
    }
}
