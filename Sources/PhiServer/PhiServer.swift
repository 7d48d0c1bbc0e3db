@_exported import PhiGeneration
