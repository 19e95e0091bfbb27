/** Prints Spark's org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptions(). */
public class ModuleOptions {
    public static void main(String[] args) throws Exception {
        Class<?> c = Class.forName("org.apache.spark.launcher.JavaModuleOptions");
        System.out.println(c.getMethod("defaultModuleOptions").invoke(null));
    }
}
