from devdb.tasks import ns
namespace = ns
