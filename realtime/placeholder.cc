// Placeholder until the sound engine lands.
