@_exported import PhiModel
