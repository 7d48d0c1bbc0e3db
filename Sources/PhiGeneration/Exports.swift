@_exported import PhiCluster
